"""The board pack: its asset, the sprint-end schedule and the sensor for sprints closed in a tracker."""
