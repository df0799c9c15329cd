"""The conference clock at work: what each transition does (``effects``, pure) and the loop that
runs them on time, exactly once, in the rooms (``runner``)."""
