# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""metav1.LabelSelector (matchLabels + matchExpressions): matching and the query-string form."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _requirements(selector):
    reqs = [(k, 'In', [v]) for k, v in sorted((selector.get('matchLabels') or {}).items())]
    for expr in selector.get('matchExpressions') or []:
        reqs.append((expr['key'], expr['operator'], list(expr.get('values') or [])))
    return reqs


def selector_matches(selector, labels):
    """Whether labels satisfy the whole selector (every key and expression, as the apiserver does).

    An empty or missing selector matches nothing, as for a Deployment's ReplicaSets.
    """
    if not selector or not (selector.get('matchLabels') or selector.get('matchExpressions')):
        return False
    labels = labels or {}
    for key, operator, values in _requirements(selector):
        present = key in labels
        if operator == 'In' and (not present or labels[key] not in values):
            return False
        if operator == 'NotIn' and present and labels[key] in values:
            return False
        if operator == 'Exists' and not present:
            return False
        if operator == 'DoesNotExist' and present:
            return False
    return True


def selector_string(selector):
    """The label selector as a query parameter (`app=x,tier in (a,b),!legacy`)."""
    parts = []
    for key, operator, values in _requirements(selector or {}):
        if operator == 'In' and len(values) == 1 and key in (selector.get('matchLabels') or {}):
            parts.append('%s=%s' % (key, values[0]))
        elif operator in ('In', 'NotIn'):
            parts.append('%s %s (%s)' % (key, operator.lower(), ','.join(values)))
        elif operator == 'Exists':
            parts.append(key)
        else:
            parts.append('!%s' % key)
    return ','.join(parts)


def controlled_by(obj, owner):
    """Whether obj's controller ownerReference points at owner (by uid, as metav1.IsControlledBy)."""
    uid = owner.get('metadata', {}).get('uid')
    for ref in obj.get('metadata', {}).get('ownerReferences') or []:
        if ref.get('controller') and ref.get('uid') == uid:
            return True
    return False
