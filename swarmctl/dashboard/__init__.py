"""`swarmctl dashboard`: a local web page that draws the swarm's nodes and the tasks on them, live."""
