"""Validation of API objects: pure functions that return ``list[FieldError]``.

* ``names``: the string formats of apimachinery's ``util/validation`` (DNS-1123
  labels and subdomains, DNS-1035 labels, qualified names, label values), each
  returning upstream's list of message strings.
* ``meta``: ``ObjectMeta`` on create and on update, with kube-apiserver's field
  paths and messages.

Validators never raise and never change their input; the API server turns a
non-empty list into a 422 ``Invalid`` Status.
"""
