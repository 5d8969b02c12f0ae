"""The window's views: one module per tab or panel."""
