"""Torch twins of the zoo: same structure and state_dict names, used to export weights and check parity."""
