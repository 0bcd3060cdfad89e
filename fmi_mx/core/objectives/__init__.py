"""What is optimised: loss terms, code modifications, and objectives that compose."""
