"""When things run: the daily schedule, sensors for configuration changes and failures (the board pack's are in defs/report)."""
