"""Decoding settings: every DecodingSettings field, presets, seed; validated on Apply.

Validation is DecodingSettings' own (UsageError naming the field and its range); the message
is shown under the form and the offending field is marked. Applies from the next turn.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from assistant.tui.safe_text import literal

if TYPE_CHECKING:
    from assistant.core.decoding import DecodingSettings

HELP = {
    "strategy": "greedy, sample or beam",
    "temperature": "sample: > 0, 1 = unchanged",
    "top_k": "sample: keep the k most likely, 0 = off",
    "top_p": "sample: nucleus mass, 1 = off",
    "typical_p": "sample: typical mass, 1 = off",
    "repetition_penalty": "1 = off",
    "no_repeat_ngram_size": "0 = off",
    "num_beams": "beam only",
    "length_penalty": "beam only",
    "max_new_tokens": "answer length limit",
    "stop": 'JSON list, e.g. ["\\n\\n", "Q:"]',
    "seed": "empty = random",
    "top_logprobs": "alternatives kept per token",
}


def form_values(settings: DecodingSettings) -> dict[str, str]:
    """Each field as the text its input shows."""
    values: dict[str, str] = {}
    for name, value in settings.to_dict().items():
        if name == "stop":  # JSON, so stop strings with newlines or commas survive the form
            values[name] = json.dumps(value, ensure_ascii=False)
        else:
            values[name] = "" if value is None else str(value)
    return values


def parse_form(raw: dict[str, str]) -> dict[str, Any]:
    """Text inputs → loose values for DecodingSettings.from_mapping (which validates)."""
    out: dict[str, Any] = {}
    for name, text in raw.items():
        text = text.strip()
        if name == "strategy":
            out[name] = text
        elif name == "stop":
            out[name] = _stop_list(text)
        elif name == "seed" and not text:
            out[name] = None
        else:
            out[name] = _number(text)
    return out


def _stop_list(text: str) -> tuple[str, ...]:
    from assistant.errors import UsageError

    try:
        value = json.loads(text or "[]")
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(
            "invalid decoding setting 'stop': must be a JSON list of strings, "
            f'e.g. ["\\n\\n"] (got {text!r})'
        )
    return tuple(value)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text  # not a number: DecodingSettings names the field in its error


class SettingsScreen(ModalScreen["DecodingSettings | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel"),
        Binding("ctrl+s", "apply", "apply"),
    ]

    def __init__(self, current: DecodingSettings) -> None:
        super().__init__()
        self.current = current
        self.fields = [f.name for f in dataclasses.fields(current)]

    def compose(self) -> ComposeResult:
        from assistant.core.decoding import PRESETS, STRATEGIES

        values = form_values(self.current)
        with Vertical(id="settings-box") as box:
            box.border_title = "decoding settings (apply from the next turn)"
            yield Select(
                [(name, name) for name in PRESETS], prompt="preset…", id="preset", allow_blank=True
            )
            with VerticalScroll(id="settings-fields"):
                for name in self.fields:
                    with Horizontal(classes="settings-row"):
                        yield Label(literal(name), classes="settings-name")
                        if name == "strategy":
                            yield Select(
                                [(s, s) for s in STRATEGIES],
                                value=values[name],
                                allow_blank=False,
                                id="field-strategy",
                            )
                        else:
                            yield Input(values[name], id=f"field-{name}")
                        yield Static(literal(HELP.get(name, "")), classes="settings-help")
            yield Static(id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def read_form(self) -> dict[str, str]:
        raw: dict[str, str] = {}
        for name in self.fields:
            if name == "strategy":
                raw[name] = str(self.query_one("#field-strategy", Select).value)
            else:
                raw[name] = self.query_one(f"#field-{name}", Input).value
        return raw

    def fill(self, settings: DecodingSettings) -> None:
        values = form_values(settings)
        for name in self.fields:
            if name == "strategy":
                self.query_one("#field-strategy", Select).value = values[name]
            else:
                self.query_one(f"#field-{name}", Input).value = values[name]

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "preset" and isinstance(event.value, str):
            from assistant.core.decoding import preset

            chosen = preset(event.value)
            keep_seed = self.read_form().get("seed", "")
            self.fill(chosen)
            self.query_one("#field-seed", Input).value = keep_seed

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_apply(self) -> None:
        from assistant.core.decoding import DecodingSettings
        from assistant.errors import UsageError

        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")
        try:
            settings = DecodingSettings.from_mapping(parse_form(self.read_form()))  # validates
        except UsageError as exc:
            message = str(exc)
            self.query_one("#settings-error", Static).update(literal(message))
            for name in self.fields:
                if f"'{name}'" in message:
                    self.query_one(f"#field-{name}").add_class("-invalid")
            return
        self.dismiss(settings)
