"""Hard to add an untranslated text: every catalog the bot ships knows every text of the code, and
a sentence written as a plain literal (not through ``_``, ``ngettext`` or ``N_``) in the modules
that talk to people fails here, with its file and line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from chatbot.i18n import DOMAIN, SHIPPED

ROOT = Path(__file__).resolve().parents[2]
#: the modules whose texts people read
SPEAKING = sorted(
    [*ROOT.glob("chatbot/features/**/*.py"),
     # the dashboard's pages and figures (charts.py draws SVG markup; auth.py speaks to operators)
     *(ROOT / "chatbot" / "dashboard" / name for name in ("server.py", "views.py", "figures.py", "lang.py")),
     *(ROOT / "chatbot" / name for name in ("engine.py", "flows.py", "context.py", "commands.py", "replies.py", "people.py")),
     ROOT / "chatbot" / "domain" / "skills.py", *ROOT.glob("chatbot/domain/matching/*.py")]
)
#: the dashboard's pages
TEMPLATES = sorted(ROOT.glob("chatbot/dashboard/templates/*.html"))
#: the same mapping as babel.cfg: the code, the dashboard's templates, the shipped skills catalogue
METHOD_MAP = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("data/skills.csv", "chatbot.i18n:extract_skills")]
MARKERS = {"_", "ngettext", "N_"}
#: calls whose texts are for operators and programmers, not people in chat
NOT_SPOKEN = {"debug", "info", "warning", "error", "exception", "critical", "RuntimeError", "TypeError", "KeyError",
              "AssertionError",
              "Example",  # a worked example: a command as typed and the pattern its answer matches
              "compile",  # a regular expression reads what people type
              "command",  # a command as typed (ctx.command("round", "close")), never translated
              "CatalogueError"}  # the skills CSV's problems, for whoever maintains that file
#: a line of a worked example's script ("alice: !signup mentee", "bob #oh: !oh open"), a command,
#: or a command an admin types in a shell ("mentorbot export mydata HANDLE --json FILE")
SCRIPT = re.compile(r"^(\w+( #[\w-]+)?: |!|mentorbot )")
SENTENCE = re.compile(r"[A-Za-z]{2,},? [A-Za-z]{2,}")
#: in the core a ValueError is a programmer's mistake in a declaration; in features it is an answer
CORE = {"engine.py", "flows.py", "context.py", "commands.py", "model.py", "scoring.py", "assignment.py"}
#: literals that are words but not sentences for a person, each with its reason
ALLOWED: dict[str, str] = {
    "date passed": "the reason an absence ended, a word the code compares, never shown",
    "no host": "the reason office hours closed, a word the code compares, never shown",
    "te reo māori": "a language's name as people type it (input the parser accepts)",
    "te reo maori": "a language's name as people type it",
    "te reo": "a language's name as people type it",
    "Generated from the declarations by `mentorbot commands`; `help COMMAND` in chat says the same.":
        "COMMANDS.md, the repository's English reference",
    "On Discord each is a slash command; a command that has sub-commands sits one level down (`/q show`, `/checkin answer`).":
        "COMMANDS.md",
    "| command | who may | what it does |": "COMMANDS.md",
}


def _texts() -> set[str]:
    """Every msgid in the code, as ``./dev i18n`` extracts it."""
    ids: set[str] = set()
    for package in ("chatbot", "adapters"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT / package), METHOD_MAP):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_every_shipped_catalog_translates_every_text():
    wanted = _texts()
    assert len(wanted) > 50  # the extraction found the code's texts
    for po in sorted(SHIPPED.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        translated = {
            m.id[0] if isinstance(m.id, tuple) else m.id
            for m in catalog
            if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
        }
        missing = sorted(wanted - translated)
        assert not missing, f"{po.relative_to(ROOT)} misses {len(missing)} texts (run ./dev i18n, then translate): {missing[:5]}"


FIELD = re.compile(r"{(\w+)}")


def test_every_translation_keeps_the_fields_of_its_text():
    """A translation that drops or misspells ``{name}`` would show a raw brace or lose a name."""
    problems = []
    for po in sorted(SHIPPED.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as f:
            catalog = read_po(f)
        for m in catalog:
            if not m.id or not m.string:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            wanted = set(FIELD.findall(ids[-1])) | set(FIELD.findall(ids[0]))
            for text in strings:
                if text and set(FIELD.findall(text)) - wanted:
                    problems.append(f"{po.parent.parent.name}: {ids[0][:50]!r} has unknown fields in {text[:60]!r}")
                if text and not isinstance(m.id, tuple) and set(FIELD.findall(text)) != wanted:
                    problems.append(f"{po.parent.parent.name}: {ids[0][:50]!r} loses fields in {text[:60]!r}")
    assert not problems, "\n".join(problems[:30])


def _spoken_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    silent = NOT_SPOKEN | ({"ValueError"} if path.name in CORE and path.parent.name in ("chatbot", "matching") else set())
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                exempt.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in MARKERS or name in silent:
                for inner in ast.walk(node):
                    exempt.add(id(inner))
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            for inner in ast.walk(node):
                exempt.add(id(inner))
        else:
            continue
        if SENTENCE.search(text) and text not in ALLOWED and not SCRIPT.match(text):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]!r}")
    return found


def test_no_sentence_bypasses_the_translation_layer():
    found = [line for path in SPEAKING for line in _spoken_literals(path)]
    assert not found, f"{len(found)} texts people read are not marked for translation:\n" + "\n".join(found[:40])


def test_the_dashboard_templates_are_extracted():
    """The pages' texts are in the catalogs too (``[jinja2: **/templates/**.html]`` in babel.cfg)."""
    assert "[jinja2: **/templates/**.html]" in (ROOT / "babel.cfg").read_text(encoding="utf-8")
    wanted = _texts()
    assert {"Sign in to the dashboard", "Pairs at risk", "Round overview"} <= wanted


#: a template's markup, expressions and statements: what is left is text a person reads as written
MARKUP = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}|<[^>]*>", re.S)
#: words a page shows as they are in every language
AS_IS = {"mentorbot", "CSV"}


def _template_literals(path: Path) -> list[str]:
    text = MARKUP.sub("\n", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        words = [w for w in re.findall(r"[A-Za-z]{2,}", line) if w not in AS_IS]
        if words:
            found.append(f"{path.relative_to(ROOT)}: {line.strip()[:60]!r}")
    return found


def test_no_template_text_bypasses_the_translation_layer():
    """Every word a page shows is inside ``{{ _("...") }}`` (or is data): a page written as plain
    HTML text would stay English for everyone."""
    assert TEMPLATES
    found = [line for path in TEMPLATES for line in _template_literals(path)]
    assert not found, "texts in the dashboard's templates that are not marked for translation:\n" + "\n".join(found)


def test_the_template_check_finds_a_plain_text():
    probe = ROOT / "chatbot" / "dashboard" / "templates" / "base.html"
    assert not _template_literals(probe)
    assert MARKUP.sub("", '<p class="x">{{ _("Hello") }} Pairs at risk</p>').strip() == "Pairs at risk"


def test_the_extraction_skips_nothing(capsys):
    """Babel skips an f-string inside ``_()`` (even as a field's value) with a warning, and the
    text it skipped is then never translated: ``./dev i18n`` prints no warning."""
    _texts()
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert not warned, "\n".join(warned)
