"""When things run: the daily schedule, the sprint-end board pack, sensors for configuration changes and failures."""
