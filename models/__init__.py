"""Neural networks behind Spotter: the YOLO person detector and the ReID embedder. No Qt here."""
