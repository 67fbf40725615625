"""Correspondence (Meldingstjenesten, DPV): messages with attachments from service owners to persons and
organisations."""
"""Correspondence: messages to persons and organisations (DPV), digital post to citizens (DPI), print, and the
eFormidling-style message API for case systems."""
