"""The model screen's tabs, one widget each, fed by the screen's reactives through data_bind."""
