"""The inbox's folders (Innboks, Utkast, Sendt, Arkiv, Papirkurv) as Arbeidsflate files dialogs: by Dialogporten's
system labels and status. Innboks holds what is in the Default folder and neither a draft nor sent; Utkast the
drafts; Sendt what carries the `Sent` label; Arkiv and Papirkurv their own folder labels."""

from __future__ import annotations

from dataclasses import dataclass

from felles.dialogporten import search
from felles.dialogporten.schemas import DialogStatus, SystemLabel

NOT_DRAFT = [status.value for status in DialogStatus if status != DialogStatus.DRAFT]


@dataclass(frozen=True)
class Folder:
    """Mappe: a view of the dialogs; `key` is how the page names it (`?folder=`)."""

    key: str
    labels: tuple[str, ...]
    without_labels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def narrow(self, filters: search.DialogFilters) -> search.DialogFilters:
        """`filters` limited to this folder (a status filter the person chose stays within the folder's)."""
        filters.system_label = list(self.labels)
        filters.without_system_label = list(self.without_labels)
        if self.statuses and filters.status:
            # A chosen status outside the folder matches nothing (no dialog has the status "-").
            filters.status = [status for status in filters.status if status in self.statuses] or ["-"]
        elif self.statuses:
            filters.status = list(self.statuses)
        return filters


FOLDERS: dict[str, Folder] = {folder.key: folder for folder in (
    Folder("inbox", (SystemLabel.DEFAULT.value,), (SystemLabel.SENT.value,), tuple(NOT_DRAFT)),
    Folder("drafts", (SystemLabel.DEFAULT.value,), (), (DialogStatus.DRAFT.value,)),
    Folder("sent", (SystemLabel.DEFAULT.value, SystemLabel.SENT.value)),
    Folder("archive", (SystemLabel.ARCHIVE.value,)),
    Folder("bin", (SystemLabel.BIN.value,)),
)}
DEFAULT_FOLDER = "inbox"


def folder_of(key: str | None) -> Folder:
    """The folder `key` names, else Innboks."""
    return FOLDERS.get(key or "", FOLDERS[DEFAULT_FOLDER])
