"""Stage 8, the class: accounts, who sees which run, and the fair queue and scheduler every run starts through."""
