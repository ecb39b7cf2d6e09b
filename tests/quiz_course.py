"""A small course with every kind of quiz unit, for the assessment tests."""

from __future__ import annotations

from pathlib import Path

SLUG = "quiz-demo"
COURSE_TOML = """title = "Quiz demo"
summary = "A course to test assessments."
estimated_minutes = 5
pass_mark = 80
max_attempts = 2
"""
MODULE = "# Only module\n\nRead this.\n"
QUIZ = """## Where may you paste a customer's order history?
- [ ] Into any AI chatbot.
  > A chatbot is not an approved tool.
- [x] Only into approved tools.
  > Right: approved tools were checked.

> Customer data goes only where it may go.

## Which of these are personal data? (choose all that apply)
- [x] A caller's name.
- [x] A phone number.
- [ ] The weather.

## Scenario: the shared screen
A colleague wants to photograph your screen.

### What do you say?
- [ ] "Sure."
- [x] "No."

## Conversation: is a robot listening?
Points: 2

### Step: start
"Is a robot listening?"

- [x] "AI tools may analyse this call." → [opt out](#step-opt-out)
  > "Can I opt out?"
- [ ] "No." → [misled](#outcome-misled)
  > "Fine."

### Step: opt out
"So can I opt out?"

- [x] "Yes, I'll note it." → [honoured](#outcome-honoured)
  > "Thanks."
- [ ] "Sure." (and carry on) → [ignored](#outcome-ignored)
  > "Thanks."

### Outcome: honoured
Score: 100%

Honest and respectful.

### Outcome: ignored
Score: 50%

Agreeing and carrying on is worse than not offering.

### Outcome: misled
Score: 0%

Never deny that AI tools are in use.
"""

# Ids the parser gives the units above (from their headings).
Q_PASTE = "where-may-you-paste-a-customers-order-history"
Q_PERSONAL = "which-of-these-are-personal-data-choose-all-that-apply"
Q_SCREEN = "what-do-you-say"
CONVERSATION = "is-a-robot-listening"


def write_quiz_course(root: Path, quiz: str = QUIZ, toml: str = COURSE_TOML) -> Path:
    folder = root / SLUG
    folder.mkdir(parents=True)
    (folder / "course.toml").write_text(toml)
    (folder / "01-only.md").write_text(MODULE)
    (folder / "quiz.md").write_text(quiz)
    return folder
