"""Conversations: steps, choices and outcomes read from ``## Conversation:`` sections, and
their graph checked (every jump lands, every step is reached, every path can end).

Part of the quiz parser; nothing outside ``app.content.quiz`` should need it.
"""

from __future__ import annotations

from app.content.markdown import render_inline, render_markdown
from app.content.quiz.blocks import BlockGrammar, RawOption, letters, render_block
from app.content.quiz.lexer import (
    ANCHOR_LINK,
    FAILS,
    JUMP,
    KIND_PREFIX,
    MUST_PASS,
    POINTS,
    SCORE,
    Line,
    Section,
    first_nonblank,
    join_lines,
    split_sections,
)
from app.content.quiz.model import Choice, Conversation, Outcome, Step
from app.content.quiz.text import plain_text, slugify

DEFAULT_CONVERSATION_POINTS = 2
MAX_CONVERSATION_POINTS = 100


class ConversationGrammar(BlockGrammar):
    """Reads conversations; the quiz grammar builds on it."""

    def conversation(
        self, heading: Line, conversation_id: str, title: str, tokens: list[Line]
    ) -> Conversation | None:
        head, subsections = split_sections(tokens, 3)
        points = DEFAULT_CONVERSATION_POINTS
        must_pass_html: str | None = None
        seen_points = False
        # Points: and Must pass: lines come first, in either order
        while (first := first_nonblank(head)) is not None:
            if not seen_points and (match := POINTS.match(first.raw.strip())):
                seen_points = True
                value = match.group(1).strip()
                if value.isdigit() and 1 <= int(value) <= MAX_CONVERSATION_POINTS:
                    points = int(value)
                else:
                    self.problem(
                        first.number,
                        "conversation points must be a whole number from 1 "
                        f"to {MAX_CONVERSATION_POINTS}, like Points: 3",
                    )
                head = [t for t in head if t is not first]
            elif must_pass_html is None and MUST_PASS.match(first.raw.strip()):
                must_pass_html, head = self.must_pass(head)
            else:
                break
        if option := next((t for t in head if t.kind in ("option", "badbox")), None):
            self.problem(
                option.number,
                "choices in a conversation's introduction: put them under a ### Step: heading",
            )

        steps: list[tuple[Step, list[tuple[RawOption, str]]]] = []
        outcomes: list[Outcome] = []
        names: dict[str, int] = {}
        first_kind = ""
        for sub in subsections:
            match = KIND_PREFIX.match(sub.heading.content)
            if match is None or match.group(1).lower() not in ("step", "outcome"):
                self.problem(
                    sub.heading.number,
                    "inside a conversation, use ### Step: NAME for "
                    "a point where the agent chooses and "
                    "### Outcome: NAME for an ending",
                )
                continue
            kind = match.group(1).lower()
            if not first_kind:
                first_kind = kind
                if kind == "outcome":
                    self.problem(
                        sub.heading.number,
                        "a conversation starts at its first "
                        "### Step:, so that must come before any "
                        "### Outcome:",
                    )
            name = plain_text(render_inline(match.group(2)))
            node_id = slugify(name)
            if not node_id:
                self.problem(
                    sub.heading.number,
                    f"{kind} has no name: write ### {kind.title()}: followed by a short name",
                )
                continue
            if node_id in names:
                self.problem(
                    sub.heading.number,
                    f"{kind} name {name!r} makes the id "
                    f"{node_id!r}, already used on line "
                    f"{names[node_id] + self.offset}: steps and "
                    "outcomes of a conversation need distinct names",
                )
                continue
            names[node_id] = sub.heading.number
            if kind == "step":
                steps.append(self.step(conversation_id, node_id, name, sub))
            else:
                outcomes.append(self.outcome(node_id, name, sub))

        if not steps:
            self.problem(
                heading.number,
                "conversation has no start: add a ### Step: NAME "
                "heading where the conversation begins, with the "
                "customer's words and the agent's choices",
            )
        if not outcomes:
            self.problem(
                heading.number,
                "conversation has no outcome: add at least one "
                "### Outcome: NAME with a Score: line and an explanation",
            )
        if steps and outcomes and first_kind == "step":
            self.check_graph(steps, outcomes)
        self.check_must_pass(heading, must_pass_html is not None, outcomes)
        return Conversation(
            id=conversation_id,
            title=title,
            stem_html=render_block(t.raw if t.kind != "blank" else "" for t in head),
            points=points,
            steps=tuple(step for step, _ in steps),
            outcomes=tuple(outcomes),
            line=heading.number + self.offset,
            must_pass_html=must_pass_html,
        )

    def check_must_pass(self, heading: Line, must_pass: bool, outcomes: list[Outcome]) -> None:
        """Report a must-pass conversation no outcome of which fails it (or all of which do),
        and an outcome that fails a conversation which is not must-pass."""
        failing = [o for o in outcomes if o.fails]
        if must_pass and outcomes and not failing:
            self.problem(
                heading.number,
                "must-pass conversation has no failing outcome: add a line Fails the attempt "
                "under the Score: of each outcome that fails it",
            )
        elif must_pass and outcomes and len(failing) == len(outcomes):
            self.problem(
                heading.number,
                "every outcome of this must-pass conversation fails the attempt, so nobody "
                "could pass: remove Fails the attempt from the outcomes that are good enough",
            )
        for outcome in failing:
            if not must_pass:
                self.problem(
                    outcome.line - self.offset,
                    f"outcome {outcome.title!r} fails the attempt, but the conversation is not "
                    "must-pass: add a line Must pass: WHAT THE LEARNER MUST DO under its "
                    "## Conversation: heading",
                )
            elif outcome.score == 100:
                self.problem(
                    outcome.line - self.offset,
                    f"outcome {outcome.title!r} fails the attempt but scores 100%: lower its "
                    "Score:, or remove Fails the attempt",
                )

    def step(
        self, conversation_id: str, step_id: str, name: str, section: Section
    ) -> tuple[Step, list[tuple[RawOption, str]]]:
        """A step, and each choice's raw option with the anchor it jumps to ('' if none)."""
        self.misplaced_must_pass(
            section.tokens,
            "under a step: put it under the ## Conversation: heading, next to Points:",
        )
        block = self.block(section.tokens, "step")
        choices: list[Choice] = []
        jumps: list[tuple[RawOption, str]] = []
        texts: dict[str, int] = {}
        for letter, raw in zip(letters(), block.options, strict=False):
            text = join_lines(raw.text).strip()
            anchor = ""
            jumps_in_text = list(JUMP.finditer(text))
            match = jumps_in_text[-1] if jumps_in_text else None
            if match is not None and not text[match.end() :].strip():
                anchor = match.group(2)
                text = text[: match.start()].rstrip()
            elif raw.mark is not None and text:
                links = list(ANCHOR_LINK.finditer(text))
                trailing = bool(links) and not text[links[-1].end() :].strip()
                hint = (
                    " (put → before the link)"
                    if trailing
                    else " (the jump must end the choice)"
                    if match
                    else ""
                )
                self.problem(
                    raw.line,
                    "choice has no jump: end it with → [next](#step-NAME) "
                    f"or → [end](#outcome-NAME){hint}",
                )
            jumps.append((raw, anchor))
            choices.append(
                Choice(
                    id=f"{conversation_id}.{step_id}.{letter}",
                    text_html=self.option_text(raw, text, texts),
                    recommended=raw.mark in ("x", "X"),
                    reaction_html=self.quote(
                        raw.feedback, raw.feedback_line, "customer's reaction"
                    ),
                    next_id="",  # resolved by check_graph
                )
            )
        self.check_options(section.heading, block, "step", sum(c.recommended for c in choices))
        step = Step(
            id=step_id,
            title=name,
            customer_html=render_block(block.body),
            choices=tuple(choices),
            note_html=self.quote(block.explanation, block.explanation_line, "note"),
            line=section.heading.number + self.offset,
        )
        return step, jumps

    def outcome(self, outcome_id: str, name: str, section: Section) -> Outcome:
        tokens = section.tokens
        if option := next((t for t in tokens if t.kind in ("option", "badbox")), None):
            self.problem(
                option.number,
                "an outcome ends the conversation and has no choices: "
                "use ### Step: NAME for a point where the agent chooses",
            )
        first = first_nonblank(tokens)
        score: int | None = None
        if first is None or not (match := SCORE.match(first.raw.strip())):
            self.problem(
                section.heading.number,
                "outcome has no score: put a line like Score: 100% right under its heading",
            )
        else:
            value = match.group(1).strip().removesuffix("%").strip()
            if value.isdigit() and int(value) <= 100:
                score = int(value)
            else:
                self.problem(
                    first.number,
                    "outcome score must be a whole percentage from 0 to 100, like Score: 50%",
                )
            tokens = [t for t in tokens if t is not first]
        fails = False
        after = first_nonblank(tokens)
        if after is not None and FAILS.match(after.raw.strip()):
            fails = True
            tokens = [t for t in tokens if t is not after]
        else:
            self.misplaced_must_pass(
                tokens,
                "under an outcome: mark an outcome that fails a must-pass conversation with "
                "a line Fails the attempt under its Score:",
            )
        explanation = join_lines(t.raw if t.kind != "blank" else "" for t in tokens)
        if not explanation.strip():
            self.problem(
                section.heading.number,
                "outcome has no explanation: under the Score: line, say what went well or badly",
            )
        # an invalid score is reported above; keep the outcome so jumps to it still resolve
        return Outcome(
            outcome_id,
            name,
            score or 0,
            render_markdown(explanation),
            section.heading.number + self.offset,
            fails,
        )

    def check_graph(
        self, steps: list[tuple[Step, list[tuple[RawOption, str]]]], outcomes: list[Outcome]
    ) -> None:
        """Resolve jumps into ``next_id`` and report missing targets, dead ends and loops."""
        anchors: dict[str, str] = {}
        for step, _ in steps:
            anchors[f"step-{step.id}"] = step.id
        for outcome in outcomes:
            anchors[f"outcome-{outcome.id}"] = outcome.id
        for node_id in [s.id for s, _ in steps] + [o.id for o in outcomes]:
            anchors.setdefault(node_id, node_id)
        known = ", ".join(f"#step-{s.id}" for s, _ in steps)
        known += ", " + ", ".join(f"#outcome-{o.id}" for o in outcomes)

        edges: dict[str, set[str]] = {}
        complete = True
        for index, (step, jumps) in enumerate(steps):
            resolved = []
            for choice, (raw, anchor) in zip(step.choices, jumps, strict=True):
                target = anchors.get(slugify(anchor), "") if anchor else ""
                if anchor and not target:
                    self.problem(
                        raw.line,
                        f"jump to #{anchor}: this conversation has no step or "
                        f"outcome with that anchor; its anchors are {known}",
                    )
                complete = complete and bool(target)
                resolved.append(_replace_next(choice, target))
            steps[index] = (
                Step(
                    step.id,
                    step.title,
                    step.customer_html,
                    tuple(resolved),
                    step.note_html,
                    step.line,
                ),
                jumps,
            )
            edges[step.id] = {c.next_id for c in resolved if c.next_id}
        if not complete:
            return  # reachability means little while some jumps lead nowhere

        reachable = _reach({steps[0][0].id}, edges)
        for step, _ in steps:
            if step.id not in reachable:
                self.problem(
                    step.line - self.offset,
                    f"step {step.title!r} is never reached: no "
                    "choice jumps to it; link to it with → "
                    f"[..](#step-{step.id}) or remove it",
                )
        for outcome in outcomes:
            if outcome.id not in reachable:
                self.problem(
                    outcome.line - self.offset,
                    f"outcome {outcome.title!r} is never "
                    "reached: no choice jumps to it; link to "
                    f"it with → [..](#outcome-{outcome.id}) "
                    "or remove it",
                )
        backwards: dict[str, set[str]] = {}
        for source, targets in edges.items():
            for target in targets:
                backwards.setdefault(target, set()).add(source)
        finishing = _reach({o.id for o in outcomes}, backwards)
        for step, _ in steps:
            if step.id in reachable and step.id not in finishing:
                self.problem(
                    step.line - self.offset,
                    f"from step {step.title!r} no choices ever "
                    "lead to an outcome, so the conversation "
                    "would loop forever: give a choice here or "
                    "further on a jump toward an outcome",
                )


def _replace_next(choice: Choice, next_id: str) -> Choice:
    return Choice(choice.id, choice.text_html, choice.recommended, choice.reaction_html, next_id)


def _reach(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
