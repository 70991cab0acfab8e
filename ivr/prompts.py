"""Prompts: texts in ``prompts.yaml`` rendered with espeak-ng and sox into
8 kHz mono 16-bit WAV, cached outside the checkout under a hash of voice,
speed and text (so a second run renders nothing), then published into the
Asterisk instance (``<instance>/prompts/<language>/<name>.wav``, hard links)
where the chrooted Asterisk can play them.

Which file a flow's prompt name plays, for a language: the rendered text of
that language; else the Asterisk core sound named by ``core`` (or the name
itself, when the root has such a sound); else the English rendering.

    python -m ivr.prompts [--flows-dir DIR] [--cache DIR]   # render (install.sh)"""
from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ivr.flow_files import read_data
from ivr.flows import LANGUAGE, PROMPT, FlowError

log = logging.getLogger(__name__)

SHIPPED_FLOWS = Path(__file__).resolve().parent / "flows"
# espeak-ng voice of each language (Indian English has no voice of its own).
VOICES = {"en": "en-gb", "hi": "hi", "ta": "ta", "kn": "kn", "ml": "ml", "te": "te"}
SPEED = 150
RENDER_VERSION = "1"  # bump to re-render everything (format or tool change)
CORE_SOUNDS = "/usr/share/asterisk/sounds/en"
SOUND_SUFFIXES = (".wav", ".gsm", ".ulaw", ".alaw", ".sln", ".g722")


@dataclass(frozen=True)
class PromptText:
    name: str
    texts: dict[str, str]                       # language -> text
    mixed: tuple[tuple[str, str], ...] = ()     # (voice language, text) in order
    core: str | None = None


def parse_catalogue(data) -> dict[str, PromptText]:
    if not isinstance(data, dict):
        raise FlowError("prompts", "prompts.yaml is a map of prompt name -> texts")
    out = {}
    for name, entry in data.items():
        def bad(message: str, key: str | None = None):
            raise FlowError("prompts", message, str(name), key)
        if not isinstance(name, str) or not PROMPT.fullmatch(name):
            bad("prompt names are a-z 0-9 _ - and /")
        if not isinstance(entry, dict) or not entry:
            bad("a map of language -> text (or core:, mixed:)")
        texts, mixed, core = {}, (), None
        for key, value in entry.items():
            if key == "core":
                if not isinstance(value, str) or not PROMPT.fullmatch(value):
                    bad("a core sound name", "core")
                core = value
            elif key == "mixed":
                if not isinstance(value, list) or not all(
                        isinstance(p, list) and len(p) == 2 and p[0] in VOICES and isinstance(p[1], str) and p[1]
                        for p in value) or not value:
                    bad(f"a list of [language, text] pairs; languages: {', '.join(VOICES)}", "mixed")
                mixed = tuple((lang, text) for lang, text in value)
            elif isinstance(key, str) and LANGUAGE.fullmatch(key) and key in VOICES:
                if not isinstance(value, str) or not value.strip() or len(value) > 2000:
                    bad("a text of 1-2000 characters", key)
                texts[key] = value
            else:
                bad(f"unknown key; languages with a voice: {', '.join(VOICES)}", str(key))
        if mixed and texts:
            bad("either mixed or texts per language, not both")
        if core and "en" not in texts:
            bad("a core sound needs an English text to render when the root lacks it", "core")
        out[name] = PromptText(name, texts, mixed, core)
    return out


def load_catalogue(flows_dir: Path) -> dict[str, PromptText]:
    for ext in (".yaml", ".yml", ".json"):
        path = flows_dir / f"prompts{ext}"
        if path.exists():
            return parse_catalogue(read_data(path))
    return {}


def segments(prompt: PromptText, language: str) -> tuple[tuple[str, str], ...]:
    """(voice language, text) pieces to render for ``language``; () when none."""
    if prompt.mixed:
        return prompt.mixed
    return ((language, prompt.texts[language]),) if language in prompt.texts else ()


def cache_key(pieces: tuple[tuple[str, str], ...]) -> str:
    text = "\x1f".join(f"{VOICES[lang]}\x1e{SPEED}\x1e{words}" for lang, words in pieces)
    return hashlib.sha256(f"v{RENDER_VERSION}\x1d{text}".encode()).hexdigest()[:40]


def tools_present() -> bool:
    return bool(shutil.which("espeak-ng") and shutil.which("sox"))


def render(pieces: tuple[tuple[str, str], ...], cache: Path) -> Path:
    """The cached WAV of these pieces, rendered if absent (atomically)."""
    target = cache / f"{cache_key(pieces)}.wav"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".render-") as tmp:
        parts = []
        for n, (lang, words) in enumerate(pieces):
            part = Path(tmp) / f"{n}.wav"
            # the text goes on stdin: it never meets a shell or an argument list
            subprocess.run(["espeak-ng", "-v", VOICES[lang], "-s", str(SPEED), "--stdin", "-w", str(part)],
                           input=words.encode(), check=True, capture_output=True, timeout=60)
            parts.append(str(part))
        out = Path(tmp) / "out.wav"
        subprocess.run(["sox", *parts, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                       check=True, capture_output=True, timeout=60)
        os.chmod(out, 0o644)
        os.replace(out, target)
    return target


def render_catalogue(catalogue: dict[str, PromptText], cache: Path, root: Path | None = None) -> int:
    """Render every prompt in every language it has text for; returns how
    many were new. English texts of prompts with a core sound the root has
    are skipped."""
    new = 0
    for prompt in catalogue.values():
        languages = list(VOICES) if prompt.mixed else list(prompt.texts)
        for language in languages:
            if language == "en" and prompt.core and root is not None and core_sound_exists(root, prompt.core):
                continue
            pieces = segments(prompt, language)
            if pieces and not (cache / f"{cache_key(pieces)}.wav").exists():
                render(pieces, cache)
                new += 1
    return new


def in_root(root: Path, inner: str, depth: int = 0) -> Path:
    """Host path of ``inner`` inside ``root``, following the root's own
    symlinks (absolute ones point inside the root, not at the host)."""
    if depth > 16:
        raise OSError(f"too many symlinks under {inner}")
    parts = [p for p in inner.split("/") if p]
    current = root
    for i, part in enumerate(parts):
        candidate = current / part
        if candidate.is_symlink():
            target = os.readlink(candidate)
            base = "/" if target.startswith("/") else "/" + "/".join(parts[:i])
            rest = "/".join(parts[i + 1:])
            return in_root(root, os.path.normpath(os.path.join(base, target, rest)), depth + 1)
        current = candidate
    return current


def core_sound_exists(root: Path, name: str) -> bool:
    folder = in_root(root, CORE_SOUNDS)
    return any((folder / f"{name}{suffix}").exists() for suffix in SOUND_SUFFIXES)


def core_sounds(root: Path) -> set[str]:
    """Names of the English core sounds the root holds ("beep", "digits/1"...)."""
    folder = in_root(root, CORE_SOUNDS)
    if not folder.is_dir():
        return set()
    names = set()
    for path in folder.rglob("*"):
        if path.suffix in SOUND_SUFFIXES:
            name = str(path.relative_to(folder).with_suffix(""))
            if PROMPT.fullmatch(name):
                names.add(name)
    return names


@dataclass
class PromptBook:
    """What AGI plays for (name, language): an absolute path inside the root
    (no suffix) or a core sound name."""
    files: dict[tuple[str, str], str] = field(default_factory=dict)
    core: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=lambda: {"en"})

    def resolve(self, name: str, language: str) -> str | None:
        found = self.files.get((name, language))
        if found is None and name in self.core:
            found = name
        return found or self.files.get((name, "en"))

    def names(self) -> set[str]:
        return {name for name, _ in self.files} | self.core


def publish(catalogue: dict[str, PromptText], cache: Path, root: Path, instance_dir: str) -> PromptBook:
    """Link the cached renderings into ``<instance_dir>/prompts`` (inside the
    root) and say what to play for each prompt and language."""
    inner = f"{instance_dir}/prompts"
    base = in_root(root, inner)
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    available = core_sounds(root)
    book = PromptBook(core=set(available), languages=set(VOICES))
    for prompt in catalogue.values():
        if prompt.core and prompt.core in available:
            book.files[(prompt.name, "en")] = prompt.core
        for language in VOICES:
            if (prompt.name, language) in book.files:
                continue
            pieces = segments(prompt, language)
            source = cache / f"{cache_key(pieces)}.wav" if pieces else None
            if source is None or not source.exists():
                continue
            target = base / language / f"{prompt.name}.wav"
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            _link(source, target)
            book.files[(prompt.name, language)] = f"{inner}/{language}/{prompt.name}"
    return book


def _link(source: Path, target: Path) -> None:
    if target.exists() and os.path.samefile(source, target):
        return
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:  # another file system: copy
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.prompts", description="Render the IVR prompts")
    parser.add_argument("--flows-dir", type=Path, default=SHIPPED_FLOWS)
    parser.add_argument("--cache", type=Path, default=Path("/var/cache/callcenter/prompts"))
    parser.add_argument("--root", type=Path, default=None, help="Asterisk root (skips English texts of core sounds)")
    args = parser.parse_args(argv)
    if not tools_present():
        print("ivr.prompts: espeak-ng or sox is missing (scripts/install.sh installs them)", file=sys.stderr)
        return 1
    try:
        catalogue = load_catalogue(args.flows_dir)
        new = render_catalogue(catalogue, args.cache, args.root)
    except (FlowError, subprocess.SubprocessError, OSError) as error:
        print(f"ivr.prompts: {error}", file=sys.stderr)
        return 1
    if new:
        print(f"ivr.prompts: rendered {new} prompts into {args.cache}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
