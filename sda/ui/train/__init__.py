"""The Train tab: layout, handlers and the page state behind them."""
