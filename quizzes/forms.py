from django import forms

from .nicknames import NICKNAME_MAX_LENGTH


class JoinForm(forms.Form):
    code = forms.CharField(max_length=12, error_messages={"required": "Enter the game code."})
    # The service checks the nickname's content; the form only bounds its size.
    nickname = forms.CharField(
        max_length=200, strip=False,
        error_messages={"required": "Choose a nickname.",
                        "max_length": f"Nicknames are at most {NICKNAME_MAX_LENGTH} characters."}
    )


def _yes_no(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=[("0", "no"), ("1", "yes")], coerce=lambda v: v == "1",
                                  required=False, empty_value=None)


class HostOptionsForm(forms.Form):
    """The host's choices for a session (services.session_configure); a field left out is
    left as it is."""

    scores = forms.ChoiceField(choices=[("live", "Live"), ("reveal", "At the reveal")], required=False)
    shuffle_choices = _yes_no("Shuffle the choices")
    auto_advance = _yes_no("Move on by itself after each reveal")
    locked = _yes_no("Lock the lobby")

    def changes(self) -> dict:
        data = self.cleaned_data
        changes = {name: data[name] for name in ("shuffle_choices", "auto_advance", "locked") if data[name] is not None}
        if data["scores"]:
            changes["scores_live"] = data["scores"] == "live"
        return changes


class KickForm(forms.Form):
    participant = forms.IntegerField(min_value=1, max_value=2**62)
