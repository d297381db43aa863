"""Slow numpy/scipy twins of the numba kernels (used only in tests)."""
import scipy.sparse as sp

import numpy as np

from fpsolve.terms import streaming_coefficients, z_boundary


def z_problem_twin(l_mu_p, grid, physics, theta=None):
    """The z-problem matrix built entry by entry with Python loops and scipy COO.

    ``theta`` (np, nz, nmu): slope weight of each cell's transported (outflow) trace, which enters
    the mean row of the cell and both rows of its downstream neighbour; the slope row of the cell
    itself keeps the DG-1 trace a +- b.  None: all 1."""
    th = np.ones((grid.np_, grid.nz, grid.nmu)) if theta is None else theta
    nk, nz, nm = grid.np_, grid.nz, grid.nmu
    mass = np.stack([grid.dz, grid.dz / 3.0], axis=1)
    s_all = streaming_coefficients(grid, physics.model.velocity)
    left, right = z_boundary(physics.z_left).name, z_boundary(physics.z_right).name
    rows, cols, vals = [], [], []

    def idx(k, i, j, d):
        return ((k * nz + i) * nm + j) * 2 + d

    L = l_mu_p.tocoo()
    for r, c, v in zip(L.row, L.col, L.data):
        k, j = divmod(r, nm)
        kk, jj = divmod(c, nm)
        for i in range(nz):
            for d in range(2):
                rows.append(idx(k, i, j, d)); cols.append(idx(kk, i, jj, d)); vals.append(v * mass[i, d])
    for k in range(nk):
        for j in range(nm):
            s = s_all[k, j]
            for i in range(nz):
                # upwind face value coefficients (on a, b of the upwind cell), or None at an inflow boundary
                if s > 0:
                    own_out = {(i, 0): 1.0, (i, 1): 1.0}  # f at i+1/2 = a_i + theta b_i (slope row: a + b)
                    if i > 0:
                        inflow = {(i - 1, 0): 1.0, (i - 1, 1): th[k, i - 1, j], "j": j}
                    elif left == "periodic":
                        inflow = {(nz - 1, 0): 1.0, (nz - 1, 1): th[k, nz - 1, j], "j": j}
                    elif left == "mirror":
                        inflow = {(0, 0): 1.0, (0, 1): -th[k, 0, nm - 1 - j], "j": nm - 1 - j}
                    else:
                        inflow = None
                    # d=0: s (out - in); d=1: s (out + in - 2a)
                    for d in range(2):
                        for (ii, dd), w in own_out.items():
                            w = w * th[k, i, j] if (d == 0 and dd == 1) else w
                            rows.append(idx(k, i, j, d)); cols.append(idx(k, ii, j, dd)); vals.append(s * w)
                        if d == 1:
                            rows.append(idx(k, i, j, 1)); cols.append(idx(k, i, j, 0)); vals.append(-2 * s)
                        if inflow is not None:
                            jj = inflow["j"]
                            for key, w in inflow.items():
                                if key == "j":
                                    continue
                                ii, dd = key
                                sign = -1.0 if d == 0 else 1.0
                                rows.append(idx(k, i, j, d)); cols.append(idx(k, ii, jj, dd)); vals.append(sign * s * w)
                elif s < 0:
                    own_out = {(i, 0): 1.0, (i, 1): -1.0}  # f at i-1/2 = a_i - theta b_i (slope row: a - b)
                    if i < nz - 1:
                        inflow = {(i + 1, 0): 1.0, (i + 1, 1): -th[k, i + 1, j], "j": j}
                    elif right == "periodic":
                        inflow = {(0, 0): 1.0, (0, 1): -th[k, 0, j], "j": j}
                    elif right == "mirror":  # f(z_max, mu) = f(z_max, -mu): a + b of the last cell at -mu
                        inflow = {(nz - 1, 0): 1.0, (nz - 1, 1): th[k, nz - 1, nm - 1 - j], "j": nm - 1 - j}
                    else:
                        inflow = None
                    # d=0: s (in - out); d=1: s (in + out - 2a)
                    for d in range(2):
                        sign_out = -1.0 if d == 0 else 1.0
                        for (ii, dd), w in own_out.items():
                            w = w * th[k, i, j] if (d == 0 and dd == 1) else w
                            rows.append(idx(k, i, j, d)); cols.append(idx(k, ii, j, dd)); vals.append(sign_out * s * w)
                        if d == 1:
                            rows.append(idx(k, i, j, 1)); cols.append(idx(k, i, j, 0)); vals.append(-2 * s)
                        if inflow is not None:
                            jj = inflow["j"]
                            for key, w in inflow.items():
                                if key == "j":
                                    continue
                                ii, dd = key
                                rows.append(idx(k, i, j, d)); cols.append(idx(k, ii, jj, dd)); vals.append(s * w)
    n = nk * nz * nm * 2
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
