"""Plain-Python twins of the sampler, written for obviousness, not speed.

- `per_step_track`: the per-step DBN law of mitll-reference 2.3-2.8 (every second, every (t+1)
  variable drawn from the column of the *current* parents), numpy Generator for randomness.
- `exact_change_expectations`: exact expected bin changes per variable by forward propagation of
  the state distribution through the transition tables (no sampling).

The Numba event-driven sampler must agree with both in distribution.
"""

from __future__ import annotations

import string

import numpy as np

from encsim.bayes.model import EncounterModel


def _draw(counts: np.ndarray, rng: np.random.Generator) -> int:
    total = counts.sum()
    if total <= 0:
        return -1
    return int(rng.choice(counts.shape[0], p=counts / total))


def _value(model: EncounterModel, var: int, b: int, rng: np.random.Generator) -> float:
    edges = model.boundaries[var]
    if edges is None:
        return float("nan")
    if b == model.zero_bins[var]:
        return 0.0
    return float(rng.uniform(edges[b], edges[b + 1]))


def per_step_track(model: EncounterModel, duration_s: int, rng: np.random.Generator, presets0: dict[int, int]):
    """One accepted track under the per-step law with the 'reject' empty-column policy.

    Returns a dict with initial bins, bin-change counts per (t+1) variable (transition order),
    resample counts per initial variable, the per-second dynamic bins (T, n_dyn) and the number
    of rejected attempts.
    """
    roles = model.roles
    time_t_of = {t1: t for t, t1 in model.temporal_map}
    rejected = 0
    while True:
        x: dict[int, int] = {}
        ok = True
        for var in model.initial_order:
            if var in presets0:
                x[var] = presets0[var]
                continue
            column = model.column_index(model.initial, var, x)
            b = _draw(model.initial.tables[var][:, column], rng)
            if b < 0:
                ok = False
                break
            x[var] = b
        if not ok:
            rejected += 1
            continue
        values = {var: _value(model, var, x[var], rng) for var in range(model.n_variables)}
        if "v" in roles and "hdot" in roles:
            if not values[roles["v"]] * 1.68781 > abs(values[roles["hdot"]]) / 60.0:
                rejected += 1
                continue
        changes = {j: 0 for j in model.transition_order}
        bins_per_second = np.zeros((duration_s, len(model.transition_order)), dtype=np.int64)
        bins_per_second[0] = [x[time_t_of[j]] for j in model.transition_order]
        for second in range(1, duration_s):
            state = dict(x)  # time-t values under their initial indices
            for j in model.transition_order:
                parents = model.transition.parents(j)
                column, stride = 0, 1
                for p in parents:
                    column += state[int(p)] * stride
                    stride *= int(model.transition.r[p])
                b = _draw(model.transition.tables[j][:, column], rng)
                if b < 0:
                    ok = False
                    break
                state[j] = b
            if not ok:
                break
            for j in model.transition_order:
                if state[j] != x[time_t_of[j]]:
                    changes[j] += 1
                    x[time_t_of[j]] = state[j]
            bins_per_second[second] = [x[time_t_of[j]] for j in model.transition_order]
        if not ok:
            rejected += 1
            continue
        resamples = rng.random((duration_s, model.n_variables)) < model.resample_rates[None, :]
        return {
            "initial_bins": [x0 for x0 in (x.get(i) for i in range(model.n_variables))],
            "changes": [changes[j] for j in model.transition_order],
            "resamples": resamples.sum(axis=0),
            "bins_per_second": bins_per_second,
            "rejected": rejected,
        }


def exact_change_expectations(model: EncounterModel, given: dict, duration_s: int) -> np.ndarray:
    """Exact expected number of bin changes of each (t+1) variable over a track of ``duration_s``.

    Forward propagation of P(state_t) over all initial variables not in ``given`` (1-based bins),
    through T - 1 transitions, using the normalised transition tables. Returns one expectation
    per (t+1) variable in `EncounterModel.transition_order`.
    """
    n0 = model.n_variables
    evidence = {model.variable_index(k): v - 1 for k, v in given.items()}
    free = [i for i in range(n0) if i not in evidence]
    state = model.exact_joint(free, given)  # axes: free initial variables

    letters = iter(string.ascii_letters)
    now = {i: next(letters) for i in free}
    nxt = {j: next(letters) for j in model.transition_order}
    time_t_of = {t1: t for t, t1 in model.temporal_map}
    operands, subscripts = [], []
    for j in model.transition_order:
        factor = model.transition_cpt(j).reshape(
            (int(model.transition.r[j]), *(int(model.transition.r[p]) for p in model.transition.parents(j))), order="F"
        )
        axes = [j, *(int(p) for p in model.transition.parents(j))]
        for pos in reversed(range(1, len(axes))):
            if axes[pos] in evidence:
                factor = np.take(factor, evidence[axes[pos]], axis=pos)
                axes.pop(pos)
        operands.append(factor)
        subscripts.append("".join(nxt[a] if a >= n0 else now[a] for a in axes))
    state_sub = "".join(now[i] for i in free)
    joint_sub = state_sub + "".join(nxt[j] for j in model.transition_order)
    spec = ",".join([state_sub, *subscripts]) + "->" + joint_sub
    # the next state: static variables keep their letter, dynamic ones take their (t+1) letter
    next_sub = "".join(nxt[j] if (j := _t1_of(model, i)) is not None else now[i] for i in free)
    dyn_positions = [free.index(time_t_of[j]) for j in model.transition_order]

    expected = np.zeros(len(model.transition_order))
    for _ in range(duration_s - 1):
        joint = np.einsum(spec, state, *operands, optimize="greedy")
        for k, _ in enumerate(model.transition_order):
            old_axis = dyn_positions[k]
            new_axis = len(free) + k
            r = joint.shape[old_axis]
            same = np.zeros(r * r, dtype=bool).reshape(r, r)
            np.fill_diagonal(same, True)
            shape = [1] * joint.ndim
            shape[old_axis], shape[new_axis] = r, r
            stayed = (joint * same.reshape(shape)).sum()
            expected[k] += joint.sum() - stayed
        state = np.einsum(joint_sub + "->" + next_sub, joint)
    return expected


def _t1_of(model: EncounterModel, i: int):
    for t, t1 in model.temporal_map:
        if t == i:
            return t1
    return None
