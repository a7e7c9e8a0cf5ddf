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
