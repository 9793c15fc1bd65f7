"""Format readers and the I/O floor: HTTP with retries, URL redaction, atomic writes.

Modules: :mod:`~xseaice.io.http`, :mod:`~xseaice.io.urls`, :mod:`~xseaice.io.atomic`,
:mod:`~xseaice.io.sentinel1` (+ :mod:`~xseaice.io.sentinel1_sampling`),
:mod:`~xseaice.io.amsr2`, :mod:`~xseaice.io.sigrid3`, :mod:`~xseaice.io.icechart`,
:mod:`~xseaice.io.altimetry`, :mod:`~xseaice.io.caffe`.
Nothing heavy is imported here.
"""
