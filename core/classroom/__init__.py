"""A class on one server: accounts, who sees which run, and the fair queue every run waits in."""
