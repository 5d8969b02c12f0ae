"""The window's icon is the desktop menu entry's (nnviz --install-desktop-entry)."""


def test_the_window_has_the_menu_entrys_icon(qapp):
    from nnviz.gui.app import make_app

    app = make_app()
    assert not app.windowIcon().isNull()
    assert app.desktopFileName() == "nnviz"
