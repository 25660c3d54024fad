"""One module per DALEC model; each builds a :class:`dalec.model.Model` and is registered here."""
