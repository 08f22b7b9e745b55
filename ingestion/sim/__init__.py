"""Vendor API simulators: serve vendor-shaped data over HTTP for the demo, replay folders and the tests."""
