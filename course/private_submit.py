"""nbgrader's submit, with the submission readable by its learner and the instructors only.

nbgrader's exchange (0.9) leaves each submission in the course's inbound folder with
files every account can read, in a folder every account can write to (mode 777): only
its name, which ends in 72 random bits, hides it from the other learners. On a shared
machine that is one leaked name away from a learner reading, or replacing, a
classmate's work. ``PrivateSubmit`` runs nbgrader's own submit, then gives the
submission a POSIX access ACL: the learner keeps full rights, each named instructor
account may read (and enter) it, and nobody else may do anything.

The hub (deploy/jupyterhub/common/nbgrader_config.py) switches it on when
``COURSE_INSTRUCTORS`` names the instructor accounts. Where the file system has no
POSIX ACLs, or no instructor account exists here, the submission keeps nbgrader's
permissions and the log says so: a submission the instructor cannot collect would be
worse than one that is hidden only by its name.
"""

from __future__ import annotations

import errno
import os
import pwd
import struct
from pathlib import Path

from nbgrader.exchange.default.submit import ExchangeSubmit
from traitlets import List, Unicode

ACL_XATTR = "system.posix_acl_access"
_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
READ, WRITE, ENTER = 4, 2, 1


def acl_blob(owner: int, readers: list[int]) -> bytes:
    """Return the xattr value of an access ACL for ``owner`` (rwx bits) and ``readers``.

    Each reader uid gets the owner's bits without write; the group and others nothing.
    """
    reader = owner & ~WRITE
    entries = [(_USER_OBJ, owner, _NO_ID)]
    entries += [(_USER, reader, uid) for uid in sorted(set(readers))]
    entries += [(_GROUP_OBJ, 0, _NO_ID), (_MASK, reader, _NO_ID), (_OTHER, 0, _NO_ID)]
    return struct.pack("<I", _VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)


def read_acl(path: Path) -> dict[str, int]:
    """Return ``path``'s access ACL as ``{"user::": bits, "user:UID": bits, ...}``."""
    blob = os.getxattr(path, ACL_XATTR)
    names = {_USER_OBJ: "user::", _GROUP_OBJ: "group::", _MASK: "mask::", _OTHER: "other::"}
    acl = {}
    for offset in range(4, len(blob), 8):
        tag, perm, uid = struct.unpack_from("<HHI", blob, offset)
        acl[names.get(tag, f"user:{uid}")] = perm
    return acl


def make_private(folder: Path, readers: list[int]) -> None:
    """Give every file and folder under ``folder`` an ACL: its owner, then ``readers``.

    Files first and ``folder`` itself last, so that a file system without ACLs fails on
    the first file, before anything has changed.
    """
    paths = [*sorted(folder.rglob("*"), reverse=True), folder]
    for path in paths:
        if path.is_symlink():
            continue
        owner = READ | WRITE | ENTER if path.is_dir() else READ | WRITE
        os.setxattr(path, ACL_XATTR, acl_blob(owner, readers))


def undo_private(folder: Path) -> None:
    """Put back nbgrader's own permissions (see ExchangeSubmit.copy_files)."""
    for path in [*folder.rglob("*"), folder]:
        if path.is_symlink():
            continue
        try:
            os.removexattr(path, ACL_XATTR)
        except OSError:
            pass
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.chmod(0o777)


def reader_uids(names: list[str]) -> tuple[list[int], list[str]]:
    """Return the uids of the accounts named, and the names that are no account here."""
    uids, unknown = [], []
    for name in names:
        try:
            uids.append(pwd.getpwnam(name).pw_uid)
        except KeyError:
            unknown.append(name)
    return uids, unknown


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's ExchangeSubmit; then the submission is readable by the instructors only."""

    readers = List(Unicode(), help="The instructor accounts that may read submissions.").tag(
        config=True)

    def copy_files(self) -> None:
        """Submit as nbgrader does, then restrict who may read the submission."""
        super().copy_files()
        folder = Path(self.inbound_path) / self.assignment_filename
        uids, unknown = reader_uids(self.readers)
        if unknown:
            self.log.warning("No account for instructor(s) %s here.", ", ".join(unknown))
        if not uids:
            self.log.warning("No instructor account to share the submission with: it keeps "
                             "nbgrader's permissions.")
            return
        try:
            make_private(folder, uids)
        except OSError as error:
            undo_private(folder)
            why = ("this file system has no POSIX ACLs"
                   if error.errno in (errno.EOPNOTSUPP, errno.ENOTSUP) else str(error))
            self.log.warning("The submission keeps nbgrader's permissions: %s.", why)
            return
        self.log.info("Submission readable by you and %s only.", ", ".join(self.readers))

