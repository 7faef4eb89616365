// HTTPControl
