"""The peft-backed method families; each module registers its methods when imported (the
registry imports them on first use, in the order of `registry.FAMILY_MODULES`)."""
