"""The warehouse: its resource, the derived assets (links, marts, snapshot) and the data checks."""
