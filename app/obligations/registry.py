"""The obligations Candor's courses can say they meet: a registry shipped with the code.

``obligations`` in a course's ``course.toml`` name entries of this registry (``courses check``
refuses any other slug), and the coverage report (``obligations.coverage``) tells, per
obligation, who is covered. Each entry says what the text requires, in its words or (for
ISO standards, whose text is not free to copy) by its clause titles, and where to read it.
Pure data: no database, no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Obligation:
    slug: str
    title: str
    requirement: str  # the text's words, or for ISO the clause titles and their gist
    source: str  # the citation
    url: str  # where to read it


REGISTRY: Final = {
    o.slug: o
    for o in (
        Obligation(
            "eu-ai-act-art-4",
            "EU AI Act, Article 4: AI literacy",
            "Providers and deployers of AI systems shall take measures to ensure, to their "
            "best extent, a sufficient level of AI literacy of their staff and other persons "
            "dealing with the operation and use of AI systems on their behalf, taking into "
            "account their technical knowledge, experience, education and training and the "
            "context the AI systems are to be used in, and considering the persons or groups "
            "of persons on whom the AI systems are to be used.",
            "Regulation (EU) 2024/1689 (Artificial Intelligence Act), Article 4",
            "https://eur-lex.europa.eu/eli/reg/2024/1689/oj",
        ),
        Obligation(
            "gdpr-art-39",
            "GDPR, Article 39(1)(b): awareness-raising and training of staff",
            "The data protection officer shall monitor compliance with this Regulation, with "
            "other Union or Member State data protection provisions and with the policies of "
            "the controller or processor in relation to the protection of personal data, "
            "including the assignment of responsibilities, awareness-raising and training of "
            "staff involved in processing operations, and the related audits.",
            "Regulation (EU) 2016/679 (General Data Protection Regulation), Article 39(1)(b)",
            "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        ),
        Obligation(
            "iso-27001-a-6-3",
            "ISO/IEC 27001:2022, control A.6.3: information security awareness, education "
            "and training",
            "Control A.6.3 (Annex A), with clauses 7.2 (Competence) and 7.3 (Awareness): "
            "personnel receive appropriate awareness, education and training, and regular "
            "updates of the policies and procedures relevant to their job; the organisation "
            "keeps documented information as evidence of competence.",
            "ISO/IEC 27001:2022, Annex A control 6.3; clauses 7.2 and 7.3",
            "https://www.iso.org/standard/27001",
        ),
        Obligation(
            "iso-42001",
            "ISO/IEC 42001:2023, clauses 7.2 and 7.3: competence and awareness for AI management",
            "Clause 7.2 (Competence): persons doing work that affects the AI management "
            "system are competent on the basis of education, training or experience, and "
            "documented information is kept as evidence; clause 7.3 (Awareness): they are "
            "aware of the AI policy and their contribution to it.",
            "ISO/IEC 42001:2023, clauses 7.2 and 7.3",
            "https://www.iso.org/standard/81230.html",
        ),
    )
}


def obligation_problem(slug: str) -> str | None:
    """Why ``slug`` names no obligation in the registry, or None."""
    if slug in REGISTRY:
        return None
    return f"unknown obligation {slug!r}: use one of {', '.join(sorted(REGISTRY))}"
