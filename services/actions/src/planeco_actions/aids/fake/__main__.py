"""`python -m planeco_actions.aids.fake --port 8010 --aids 200 --seed 1`: the fake as its own process."""

from planeco_actions.aids.fake.run import main

main()
