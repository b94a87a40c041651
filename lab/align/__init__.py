"""Camera viewpoint estimation and re-projection (where did each camera stand?)."""
