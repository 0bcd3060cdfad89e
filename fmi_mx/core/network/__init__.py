"""The network: VGG layer tables, their weights, and the encoder that reads codes."""
