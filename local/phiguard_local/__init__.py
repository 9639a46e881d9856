"""PHI Guard on an embedded AWS (moto server): the demo, the reference architecture, event delivery.

Development and demo code only: it is not part of the Lambda package (functions/).
"""
