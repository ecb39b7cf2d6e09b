"""An attempt in pages: how a sheet is cut into pages, numbered, and where a learner resumes."""

from __future__ import annotations

from app.content.quiz import parse_quiz
from app.quizzes.grading import plan_attempt
from app.quizzes.sheet import build_sheet, encode_answers, paginate, resume_page

QUIZ = """\
## One?
- [x] Yes.
- [ ] No.

## Two? (choose all that apply)
- [x] A.
- [x] B.
- [ ] C.

## Three?
- [x] Yes.
- [ ] No.

## Four?
- [x] Yes.
- [ ] No.

## Scenario: the shared screen
A colleague wants to photograph your screen.

### What do you say?
- [ ] "Sure."
- [x] "No."

### And then?
- [x] Report it.
- [ ] Forget it.

## Five?
- [x] Yes.
- [ ] No.

## Conversation: is a robot listening?
Points: 2

### Step: start
"Is a robot listening?"

- [x] "AI tools may analyse this call." → [honest](#outcome-honest)
- [ ] "No." → [misled](#outcome-misled)

### Outcome: honest
Score: 100

Honest.

### Outcome: misled
Score: 0

Misled.
"""


def pages_of(paths=None):
    quiz, problems = parse_quiz(QUIZ, "quiz.md")
    assert not problems, problems
    plan = plan_attempt(quiz, 7)
    return quiz, plan, paginate(build_sheet(quiz, plan, paths or {}))


def test_questions_come_three_a_page_and_a_scenario_or_conversation_alone():
    _, _, pages = pages_of()
    kinds = [[u.kind for u in p.units] for p in pages]
    assert kinds == [
        ["question", "question", "question"],
        ["question"],
        ["scenario"],
        ["question"],
        ["conversation"],
    ]
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    # Questions are numbered across the whole attempt; a scenario's count one by one.
    assert [p.first_question for p in pages] == [1, 4, 5, 7, 8]
    assert [p.size for p in pages] == [3, 1, 2, 1, 1]


def test_a_learner_resumes_at_the_first_page_not_done():
    quiz, plan, pages = pages_of()
    four = pages[1].question_ids[0]
    assert resume_page(pages, {}) is pages[0]
    first_page = {q: ("x",) for q in pages[0].question_ids}
    assert resume_page(pages, first_page) is pages[1]
    # A page half answered is where the learner was.
    partly = {**first_page, pages[2].question_ids[0]: ("x",), four: ("x",)}
    assert resume_page(pages, partly) is pages[2] and pages[2].answered(partly) == 1
    everything = {q: ("x",) for p in pages for q in p.question_ids}
    assert resume_page(pages, everything) is pages[4]  # the conversation is not finished
    conversation = pages[4].conversation_ids[0]
    _, _, finished = pages_of({conversation: [f"{conversation}.start.a"]})
    assert finished[4].complete(everything)
    assert resume_page(finished, everything) is None  # every page done: the review is next


def test_saved_answers_show_as_the_positions_ticked():
    quiz, plan, pages = pages_of()
    two = pages[0].question_ids[1]
    planned = plan.question(two)
    chosen = (planned.option_ids[1], planned.option_ids[0])
    assert encode_answers(plan, {two: chosen, "not-in-plan": ("x",)}) == {two: ["1", "2"]}
