"""Dialogs and file actions: data chooser, open/save, export, lessons."""
