"""The synthetic world: seeded, labelled accounts every model trains and tests on.

Where each part lives:

- ``world``: ``simulate()``/``iter_chunks`` and the public API other packages import.
- ``params``: the knobs (``WorldParams``) and the fixed generative assumptions.
- ``plan``: who every account is and which tactic it plays (kinds, rings, purchases).
- ``pairs``: which accounts of the world engage which others (ring and community edges).
- ``engagement``, ``posts``, ``history``, ``followers``: per-account generators.
- ``people``, ``text``: profiles and strings of genuine followers, fakes and bots.
- ``randomness``: counter-based draws; ``tables``/``output``: Arrow tables and folders.
- ``calibration``, ``realism``, ``samples``: fits to real data, sim-to-real checks, data/samples.

The ring (pod) model is spread over ``params`` (rates), ``plan`` (membership),
``pairs`` (who engages whom) and ``engagement`` (timing).
"""
