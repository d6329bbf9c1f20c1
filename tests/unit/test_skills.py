"""The skills catalogue a self-assessment is built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.domain.skills import (
    GENERALIST,
    SCALE,
    Catalogue,
    CatalogueError,
    Skill,
    SkillLookupError,
    load_catalogue,
    parse_level,
    scale_help,
)

MEDIAWIKI = {
    "MediaWiki Architecture & Extension System",
    "MediaWiki Configuration Scope",
    "Wikimedia Ecosystem Awareness",
    "Web Security",
    "Code Contribution & Review",
    "Configuration & Wiki Management",
    "Extension Vetting & Compatibility",
}
INFRASTRUCTURE = {
    "Infrastructure & Deployment Practices",
    "Swift Maintenance Operations",
    "Caching & CDN Layers",
    "Infrastructure and Suppliers",
    "Incident Response & Debugging",
    "Log Interpretation",
    "Process Automation with Shell & Git",
}
GENERALIST_SKILLS = {
    "Open Source Ecosystem Awareness",
    "Security & Privacy Compliance",
    "Governance & Policy Framework",
    "Technical Communication",
    "Mentorship & Peer Support",
    "Access Management & Privilege Boundaries",
    "Community Stewardship",
    "Reliability & Ownership",
    "Curiosity & Improvement Mindset",
    "Respectful Engagement",
    "Ethical & Privacy-Conscious",
    "Consensus-First Decision-Making",
    "Documentation Discipline",
    "Inclusive Mentorship",
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def titles(skills) -> set[str]:
    return {s.title for s in skills}


def test_packaged_catalogue_has_the_28_standard_skills_each_described(catalogue: Catalogue) -> None:
    assert len(catalogue) == 28
    assert titles(catalogue) == MEDIAWIKI | INFRASTRUCTURE | GENERALIST_SKILLS
    for skill in catalogue:
        assert skill.stack_area and skill.role_focus
        assert 20 <= len(skill.description) <= 120, skill.title
        assert "\n" not in skill.description
    # spot checks of the standard's columns, including values with '&', '/' and brackets
    assert catalogue.find("Swift Maintenance Operations") == Skill(
        "Swift Maintenance Operations",
        "Infra (Object Storage)",
        "Infrastructure Specialist",
        catalogue.find("swift").description,
    )
    assert catalogue.find("Technical Communication").stack_area == "Community/All"


def test_role_focuses_put_generalist_last(catalogue: Catalogue) -> None:
    assert catalogue.role_focuses == ("MediaWiki Specialist", "Infrastructure Specialist", GENERALIST)


def test_a_specialist_assessment_asks_its_own_skills_then_the_generalist_ones(catalogue: Catalogue) -> None:
    asked = catalogue.for_focus("MediaWiki Specialist")
    assert len(asked) == 21
    assert titles(asked[:7]) == MEDIAWIKI and titles(asked[7:]) == GENERALIST_SKILLS
    assert titles(catalogue.for_focus("infrastructure specialist")) == INFRASTRUCTURE | GENERALIST_SKILLS
    assert titles(catalogue.for_focus(GENERALIST)) == GENERALIST_SKILLS


def test_an_unknown_focus_lists_the_known_ones(catalogue: Catalogue) -> None:
    with pytest.raises(SkillLookupError, match="unknown role focus 'Designer': choose one of MediaWiki Specialist"):
        catalogue.for_focus("Designer")


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("web security", "Web Security"),
        ("  LOG   interpretation ", "Log Interpretation"),
        ("swift", "Swift Maintenance Operations"),
        ("Infrastructure &", "Infrastructure & Deployment Practices"),
        ("consensus", "Consensus-First Decision-Making"),
    ],
)
def test_find_by_title_or_unambiguous_prefix(catalogue: Catalogue, typed: str, title: str) -> None:
    assert catalogue.find(typed).title == title


def test_find_explains_ambiguous_and_unknown_names(catalogue: Catalogue) -> None:
    with pytest.raises(SkillLookupError, match="could be any of") as ambiguous:
        catalogue.find("infra")
    assert titles(ambiguous.value.candidates) == {
        "Infrastructure & Deployment Practices",
        "Infrastructure and Suppliers",
    }
    with pytest.raises(SkillLookupError, match="no skill is called 'Juggling'"):
        catalogue.find("Juggling")


def test_an_exact_title_wins_over_longer_titles_it_begins(tmp_path: Path) -> None:
    path = tmp_path / "skills.csv"
    path.write_text("title,stack_area,role_focus\nGit,Tools,Generalist\nGit Internals,Tools,Generalist\n")
    assert load_catalogue(path).find("git").title == "Git"


def test_the_scale_reads_answers_and_explains_itself() -> None:
    assert [level.code for level in SCALE] == ["0", "1", "2", "3", "N/A"]
    assert [parse_level(a) for a in ("0", " 3 ", "N/A", "na")] == [0, 3, None, None]
    assert "2 confident alone" in scale_help() and "3 can teach others" in scale_help()
    with pytest.raises(ValueError, match="'4' is not on the scale: answer with 0 no understanding"):
        parse_level("4")


# --------------------------------------------------------------------------- a community's own CSV


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ours.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_community_csv_with_quotes_a_bom_and_no_descriptions_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffTitle, Stack_Area ,role_focus\n"
        '"Rust, async",Backend,Backend Specialist\n'
        "\n"
        "Kindness,Community,Generalist\n",
    )
    catalogue = load_catalogue(path)
    assert [s.title for s in catalogue] == ["Rust, async", "Kindness"]
    assert catalogue.find("rust").description == ""
    assert titles(catalogue.for_focus("Backend Specialist")) == {"Rust, async", "Kindness"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("title,stack_area,role_focus,level\n", "line 1: unknown column 'level'"),
        ("title,role_focus\nA,Generalist\n", "line 1: the column 'stack_area' is missing"),
        ("title,stack_area,role_focus\n", "a header but no skills"),
        ("title,stack_area,role_focus\nA,x,Generalist\n,x,Generalist\n", "line 3: the title is missing"),
        ("title,stack_area,role_focus\nA,x,\n", "line 2: 'A' has no role_focus"),
        (
            "title,stack_area,role_focus\nA,x,Generalist\nB,x,Generalist\n a ,y,Generalist\n",
            "line 4: duplicate title 'a' \\(first on line 2\\)",
        ),
        ("title,stack_area,role_focus\nGit, Shell,Tools,Generalist\n", "line 2: 4 cells but 3 columns"),
        (
            'title,stack_area,role_focus,description\nA,x,Generalist,"two\nlines"\nA,x,Generalist,\n',
            "line 4: duplicate title",  # a quoted cell over two lines: the next row starts on 4
        ),
    ],
)
def test_a_bad_community_csv_names_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError, match=message) as error:
        load_catalogue(path)
    assert str(error.value).startswith(str(path))


def test_a_missing_file_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read the skills catalogue"):
        load_catalogue(tmp_path / "nope.csv")
