"""Correspondence (Meldingstjenesten, DPV): messages with attachments from service owners to persons and
organisations."""
