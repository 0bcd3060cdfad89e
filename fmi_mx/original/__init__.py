"""The original code's own outputs (figures 3, 4 and 5 in its repository's ``output/``) set beside
fmi_mx's: their tiles cut out, and how well ours agree. The pictures are the authors' and carry no
licence, so they are read from a copy the user fetched, never shipped."""
