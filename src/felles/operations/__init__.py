"""Operations: the status page with incidents, the monthly statistics, and the samples behind them."""
