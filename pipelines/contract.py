"""Names that the pipeline definition and the container scripts must agree on.

The scripts cannot import this package inside a container, so every value here reaches them
as an explicit argument built by the step builders; the scripts keep the same values as their
argparse defaults, and `tests/test_contract.py` checks the two never drift apart.
"""

from __future__ import annotations

# Step names: what Studio shows and what property references point at.
PREPROCESS = "Preprocess"
TRAIN = "Train"
EVALUATE = "Evaluate"
CHECK_QUALITY = "CheckQuality"
REGISTER_MODEL = "RegisterModel"
CREATE_MODEL = "CreateModel"
BATCH_TRANSFORM = "BatchTransform"
FAIL = "ModelQualityFail"
CHECK_CHAMPION = "CheckChampion"
CHAMPION_FAIL = "ChampionNotBeaten"
MONITOR_DRIFT = "MonitorDrift"
CHECK_DRIFT = "CheckDrift"
DRIFT_FAIL = "SevereDrift"
CHECK_CHAMPION_URI = "CheckChampionUri"
CHECK_REGISTERED = "CheckAlreadyRegistered"
CHAMPION_URI_FAIL = "ChampionUriNotAModel"

# Container paths inside processing jobs (the SageMaker convention under /opt/ml/processing).
PROCESSING_ROOT = "/opt/ml/processing"
RAW_DATA_DIR = f"{PROCESSING_ROOT}/input/data"
MODEL_INPUT_DIR = f"{PROCESSING_ROOT}/input/model"
# Preprocess reads its own share of the input (ShardedByS3Key: whole files, each holding
# whole series) and scans all of it (FullyReplicated) to plan as every other instance does.
SCAN_DIR = f"{PROCESSING_ROOT}/input/scan"
TRAIN_DIR = f"{PROCESSING_ROOT}/train"
VALIDATION_DIR = f"{PROCESSING_ROOT}/validation"
TEST_DIR = f"{PROCESSING_ROOT}/test"
HISTORY_DIR = f"{PROCESSING_ROOT}/history"
REFERENCE_DIR = f"{PROCESSING_ROOT}/reference"
SCHEMA_DIR = f"{PROCESSING_ROOT}/schema"
BATCH_DIR = f"{PROCESSING_ROOT}/batch"
EVALUATION_DIR = f"{PROCESSING_ROOT}/evaluation"
# Evaluate reads the datasets that preprocess wrote; they arrive under input/.
EVAL_TEST_DIR = f"{PROCESSING_ROOT}/input/test"
EVAL_HISTORY_DIR = f"{PROCESSING_ROOT}/input/history"
# ... and the champion's model.tar.gz, or the no-champion marker.
CHAMPION_INPUT_DIR = f"{PROCESSING_ROOT}/input/champion"
# MonitorDrift fits the baseline on preprocess's reference rows (every unit's) and reads
# the forecast's schema and the batch input.
SCHEMA_INPUT_DIR = f"{PROCESSING_ROOT}/input/schema"
REFERENCE_INPUT_DIR = f"{PROCESSING_ROOT}/input/reference"
BATCH_INPUT_DIR = f"{PROCESSING_ROOT}/input/batch"
DRIFT_DIR = f"{PROCESSING_ROOT}/drift"

# Processing output names (also the keys of ProcessingOutputConfig.Outputs[...]).
OUTPUT_TRAIN = "train"
OUTPUT_VALIDATION = "validation"
OUTPUT_TEST = "test"
OUTPUT_HISTORY = "history"
OUTPUT_REFERENCE = "reference"
OUTPUT_SCHEMA = "schema"
OUTPUT_BATCH = "batch"
OUTPUT_EVALUATION = "evaluation"
OUTPUT_DRIFT = "drift"

# Training channels.
CHANNEL_TRAIN = "train"
CHANNEL_VALIDATION = "validation"
CHANNEL_HISTORY = "history"
CHANNEL_SCHEMA = "schema"

# Files.
TRAIN_FILE = "train.parquet"
VALIDATION_FILE = "validation.parquet"
TEST_FILE = "test.parquet"
REFERENCE_FILE = "reference.parquet"
BATCH_FILE = "batch.csv"
FEATURE_SCHEMA_FILE = "feature_schema.json"
# every observed row with the forecast's features: the model that forecasts is refit on it
HISTORY_FILE = "history.parquet"
HISTORY_SCHEMA_FILE = "history_schema.json"
BACKTEST_DIR = "backtest"  # inside model.tar.gz: the back-test's model, which Evaluate scores
MODEL_FILE = "xgboost-model.ubj"
EVALUATION_FILE = "evaluation.json"
DRIFT_BASELINE_FILE = "drift_baseline.json"
MONITOR_STATISTICS_FILE = "statistics.json"  # the baseline in Model Monitor's format
MONITOR_CONSTRAINTS_FILE = "constraints.json"
DRIFT_FILE = "drift.json"

# The property file the condition reads, and the JSON paths inside evaluation.json.
EVALUATION_PROPERTY_FILE = "EvaluationReport"
# The gate's metric (QualityMetric; lower is better for each), its value and skill.
QUALITY_METRICS = ("wape", "mase", "mape", "rmspe")
# a model package version's approval statuses (SageMaker's ModelApprovalStatus)
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
QUALITY_METRIC_JSON_PATH = "quality.metric"
QUALITY_VALUE_JSON_PATH = "quality.value"
QUALITY_SKILL_JSON_PATH = "quality.skill_vs_naive"
CHAMPION_PRESENT_JSON_PATH = "champion.present"
CHAMPION_SUMMARY_JSON_PATH = "champion.summary"
CHAMPION_IMPROVEMENT_JSON_PATH = "champion.improvement"
DRIFT_PROPERTY_FILE = "DriftReport"
SEVERE_COUNT_JSON_PATH = "severe_count"
SEVERE_SUMMARY_JSON_PATH = "summary"

# Metric lines train.py prints and the regexes SageMaker applies to the training log.
METRIC_DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("validation:rmse", r"validation-rmse:([0-9.eE+-]+)"),
    ("validation:mape", r"validation-mape=([0-9.eE+-]+)"),
    ("validation:rmspe", r"validation-rmspe=([0-9.eE+-]+)"),
    ("best_iteration", r"best-iteration=([0-9]+)"),
)

# Inference entry point inside the inference source tarball.
INFERENCE_PROGRAM = "inference.py"
TRAINING_PROGRAM = "train.py"
