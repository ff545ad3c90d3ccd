"""Decoding settings: every DecodingSettings field, presets, seed; validated on Apply.

Validation is DecodingSettings' own (UsageError naming the field and its range); the message
is shown under the form and the offending field is marked. Applies from the next turn. The
form's text conversions and the preset rule (keep the grounding) are in settings_form.py.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch

from assistant.tui.safe_text import literal
from assistant.tui.settings_form import BOOL_FIELDS, HELP, form_values, parse_form, preset_form

if TYPE_CHECKING:
    from assistant.core.decoding import DecodingSettings

__all__ = ["HELP", "SettingsScreen", "form_values", "parse_form"]


def _choices() -> dict[str, tuple[str, ...]]:
    """Fields picked from a list."""
    from assistant.core.decoding import GROUNDING_MODES, PRECISIONS, STRATEGIES

    return {"strategy": STRATEGIES, "grounding": GROUNDING_MODES, "precision": PRECISIONS}


class SettingsScreen(ModalScreen["DecodingSettings | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel"),
        Binding("ctrl+s", "apply", "apply"),
    ]

    def __init__(self, current: DecodingSettings) -> None:
        super().__init__()
        self.current = current
        self.fields = [f.name for f in dataclasses.fields(current)]
        self.choices = _choices()

    def compose(self) -> ComposeResult:
        from assistant.core.decoding import PRESETS

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
                        if name in self.choices:
                            yield Select(
                                [(c, c) for c in self.choices[name]],
                                value=values[name],
                                allow_blank=False,
                                id=f"field-{name}",
                            )
                        elif name in BOOL_FIELDS:
                            yield Switch(values[name] == "true", id=f"field-{name}")
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
            if name in self.choices:
                raw[name] = str(self.query_one(f"#field-{name}", Select).value)
            elif name in BOOL_FIELDS:
                raw[name] = "true" if self.query_one(f"#field-{name}", Switch).value else "false"
            else:
                raw[name] = self.query_one(f"#field-{name}", Input).value
        return raw

    def fill(self, values: dict[str, str]) -> None:
        for name in self.fields:
            if name in self.choices:
                self.query_one(f"#field-{name}", Select).value = values[name]
            elif name in BOOL_FIELDS:
                self.query_one(f"#field-{name}", Switch).value = values[name] == "true"
            else:
                self.query_one(f"#field-{name}", Input).value = values[name]

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "preset" and isinstance(event.value, str):
            # The seed and the grounding fields stay; a beam preset turns grounding off.
            self.fill(preset_form(event.value, self.read_form()))

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
