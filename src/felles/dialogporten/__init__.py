"""Dialogporten: the common dialog model every agency writes its dialogs to and every inbox reads."""
