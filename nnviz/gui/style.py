"""Colours, fonts and the dark theme shared by every view (readable on a projector)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1d1f24"
PANEL = "#262930"
RAISED = "#2f333b"
TEXT = "#e8e8e8"
MUTED = "#a3a9b3"
ACCENT = "#4fc3f7"       # test accuracy, selection
VALIDATION = "#ffb74d"   # validation accuracy
COST = "#81c784"         # training cost
ETA_MARK = "#d59cf0"     # eta change markers
ERROR = "#ef6b6b"
GRID_ALPHA = 0.15

# Heatmap colours: blue = negative (pixel switches the neuron off), white = 0, red = on.
HEATMAP_COLORMAP = "CET-D1A"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QDockWidget::title {{ background: {PANEL}; padding: 4px 8px; }}
QFrame#card {{ background: {PANEL}; border-radius: 6px; }}
QLabel#cardTitle {{ color: {MUTED}; font-size: 9pt; }}
QLabel#cardValue {{ color: {TEXT}; font-size: 17pt; font-weight: 600; }}
QLabel#caption {{ color: {MUTED}; font-size: 9pt; }}
QLabel#viewTitle {{ color: {TEXT}; font-size: 10pt; font-weight: 600; }}
QLabel#message {{ color: {ERROR}; }}
QFrame#messageBar {{ background: #4a2a2a; border-radius: 4px; }}
QLabel#messageText {{ color: #ffdede; }}
QGroupBox {{ border: 1px solid {RAISED}; border-radius: 5px; margin-top: 14px; padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {MUTED}; }}
QToolBar {{ spacing: 4px; padding: 2px 4px; border: none; }}
QToolButton {{ padding: 4px 10px; border-radius: 4px; }}
QToolButton:checked {{ background: {RAISED}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QRadioButton {{ spacing: 8px; }}
QRadioButton::indicator {{ width: 12px; height: 12px; border-radius: 8px; border: 2px solid {MUTED};
                           background: #16181c; }}
QRadioButton::indicator:hover {{ border-color: {TEXT}; }}
QRadioButton::indicator:checked {{ border-color: {ACCENT}; background: qradialgradient(cx: 0.5, cy: 0.5,
    radius: 0.5, fx: 0.5, fy: 0.5, stop: 0 {ACCENT}, stop: 0.55 {ACCENT}, stop: 0.65 #16181c, stop: 1 #16181c); }}
QRadioButton::indicator:disabled {{ border-color: #70757d; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style, a dark palette and the stylesheet above."""
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.Window: BACKGROUND, QPalette.WindowText: TEXT, QPalette.Base: "#16181c",
        QPalette.AlternateBase: PANEL, QPalette.ToolTipBase: "#2b2f36", QPalette.ToolTipText: TEXT,
        QPalette.Text: TEXT, QPalette.Button: RAISED, QPalette.ButtonText: TEXT,
        QPalette.BrightText: "#ffffff", QPalette.Highlight: "#2f79a8", QPalette.HighlightedText: "#ffffff",
        QPalette.Link: ACCENT, QPalette.PlaceholderText: MUTED,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#70757d"))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options, set once at start-up."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background=BACKGROUND,
                        foreground=TEXT)
