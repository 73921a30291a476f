"""Slots shared by the Python side and the kernels: state columns, hyper-parameters, counters.

The model state is one 2-D float array with a row per coordinate (the last row is the bias), so
that a coordinate's weight, linear and accumulator sit in one cache line.
"""

# State columns that always exist.
W = 0  # the weight itself (Keras's variable)
Z = 1  # "linear"
N = 2  # "accumulator"
# 1 + (which record last touched the coordinate, modulo STAMP_MOD); 0: never touched.  It
# shares the cache line of the weight, so the online loop finds duplicate features in a record
# for free, and an untouched row can stay all zeros (its pages are never even mapped) until
# its accumulator is set to ``initial_accumulator_value`` on first touch.
T = 3
BASE_COLS = 4
STAMP_MOD = (1 << 24) - 1  # stamps stay exact in float32 state too

# Slots of the ``cols`` array that locate optional state columns (-1 when absent).
COL_AVG = 0  # EMA of the weight
COL_EST = 1  # raw iteration up to which the EMA of this coordinate is current
COL_ACC = 2  # gradient accumulator
N_OPTIONAL = 3

# Slots of the ``hp`` float array.
HP_L1 = 0
HP_L2 = 1
HP_SHRINK = 2
HP_BETA = 3
HP_POWER = 4
HP_WD = 5  # weight decay, 0 = off
HP_CLIPNORM = 6  # 0 = off
HP_CLIPVALUE = 7  # 0 = off
HP_GCLIPNORM = 8  # 0 = off
HP_EMA = 9  # 1 = use_ema
HP_EMA_MOM = 10
HP_EMA_FREQ = 11  # 0 = None
HP_LSCALE = 12  # 0 = None
HP_ACCUM = 13  # 0 = None, else >= 2
HP_BIAS = 14  # 1 = the model has a bias
HP_INIT_ACC = 15  # initial_accumulator_value, set on a row's first touch
HP_LOSS = 16  # one of the LOSS_* codes below
N_HP = 17

# Loss codes (``HP_LOSS``): what a record's prediction and gradient are (kernels.loss).
LOSS_LOGISTIC = 0  # Dense(1, activation="sigmoid") on binary cross-entropy
LOSS_SQUARED = 1  # Dense(1) on mean squared error

# Slots of the ``ctr`` int64 array.
CTR_IT = 0  # Keras's optimizer._iterations (raw, counts accumulation micro-steps)
CTR_ROWS = 1  # records gathered into the step not applied yet
CTR_NACT = 2  # coordinates in the active list
CTR_NPEND = 3  # coordinates with a non-empty gradient accumulator
CTR_EXAMPLES = 4  # records seen
N_CTR = 5

# Bits of the ``mark`` uint8 array.
MARK_ACTIVE = 1
MARK_PENDING = 2

# What the training kernels return: OK, or ``2 * row + FAIL_*`` for the first record at which
# training stopped (its update made a weight non-finite, or its margin was not finite).
OK = -1
FAIL_WEIGHT = 0
FAIL_MARGIN = 1
