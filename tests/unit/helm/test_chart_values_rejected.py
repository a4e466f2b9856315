"""Bad values fail `helm template` (and so `helm install`) with a message that names the value."""

from __future__ import annotations

import pytest

from tests.unit.helm.charts import CODING_CHART, TRAINING_CHART, HelmFailed, ValuesSet, helm_binary, render

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]


def _profiles(*profiles: dict) -> dict:
    return {"singleuser": {"profileList": list(profiles)}}


@pytest.mark.parametrize("chart, values, message", [
    (CODING_CHART, {"gpuSharing": {"backend": "vgpu"}},
     "at '/gpuSharing/backend': value must be one of 'hami', 'gpumanager'"),
    (CODING_CHART, {"hub": {"db": {"type": "mysql"}}}, "at '/hub/db/type'"),
    (CODING_CHART, {"cull": {"timeout": 0}}, "at '/cull/timeout': minimum"),
    (CODING_CHART, {"cull": {"timout": 60}}, "additional properties 'timout' not allowed"),
    (CODING_CHART, {"hub": {"cookieSecret": "not-hex"}}, "at '/hub/cookieSecret'"),
    (CODING_CHART, {"singleuser": {"uid": 0}}, "at '/singleuser/uid': minimum"),
    (CODING_CHART, _profiles({"slug": "GPU Big", "display_name": "x"}), "at '/singleuser/profileList/0/slug'"),
    (CODING_CHART, _profiles({"slug": "x", "display_name": "x", "gpu_fraction": 1.5}),
     "at '/singleuser/profileList/0/gpu_fraction': maximum"),
    (CODING_CHART, {"singleuser": {"profileList": []}}, "at '/singleuser/profileList': minItems"),
    (CODING_CHART, _profiles({"slug": "x", "display_name": "x", "gpu_fraction": 0.3}),
     "gpu_fraction 0.3 does not divide a GPU evenly; use 1/n"),
    (CODING_CHART, _profiles({"slug": "x", "display_name": "x"}, {"slug": "x", "display_name": "y"}),
     'slug "x" is used twice'),
    (CODING_CHART, _profiles({"slug": "a", "display_name": "a", "default": True},
                             {"slug": "b", "display_name": "b", "default": True}), "more than one profile has default"),
    (CODING_CHART, {"gpuSharing": {"backend": "whole"},
                    **_profiles({"slug": "q", "display_name": "q", "gpu_fraction": 0.25})},
     'gpu_fraction 0.25 needs a GPU sharing backend, but gpuSharing.backend is "whole"'),
    (CODING_CHART, {"hub": {"db": {"type": "postgres"}}},
     "postgres without a url, but postgresql.enabled is false"),
    (CODING_CHART, {"hub": {"db": {"type": "postgres", "url": "postgresql://u:pw@h/db"}}}, "at '/hub/db/url'"),
    (CODING_CHART, _profiles({"slug": "q", "display_name": "q", "unattended_timeout_s": -1}),
     "at '/singleuser/profileList/0/unattended_timeout_s': minimum: got -1, want 0"),
    (CODING_CHART, {"singleuser": {"storage": {"type": "dynamic", "capacity": "10 GB"}}},
     "at '/singleuser/storage/capacity': '10 GB' does not match pattern"),
    (CODING_CHART, {"singleuser": {"storage": {"type": "dynamic", "size": "10Gi"}}},
     "at '/singleuser/storage': additional properties 'size' not allowed"),
    (CODING_CHART, {"gateway": {"extraVolumes": [{"name": "Datasets", "emptyDir": {}}]}},
     "at '/gateway/extraVolumes/0/name': 'Datasets' does not match pattern"),
    (CODING_CHART, {"gateway": {"extraVolumes": [{"name": "datasets"}]}},
     "at '/gateway/extraVolumes/0': minProperties"),
    (CODING_CHART, {"gateway": {"extraVolumeMounts": [{"name": "datasets", "mountPath": "srv/datasets"}]}},
     "at '/gateway/extraVolumeMounts/0/mountPath': 'srv/datasets' does not match pattern '^/'"),
    (CODING_CHART, {"gateway": {"extraVolumeMounts": [{"name": "datasets"}]}}, "missing property 'mountPath'"),
    (CODING_CHART, {"gateway": {"extraVolumes": [{"name": "datasets", "emptyDir": {}}],
                                "extraVolumeMounts": [{"name": "dataset", "mountPath": "/srv/datasets"}]}},
     'gateway.extraVolumeMounts[0]: volume "dataset" is not one of gateway.extraVolumes (names: datasets)'),
    (CODING_CHART, {"gateway": {"extraVolumes": [{"name": "state", "emptyDir": {}}]}},
     'gateway.extraVolumes[0]: the name "state" is taken'),
    (TRAINING_CHART, {"competitions": [{"name": "Faces", "gpus": 2}]}, "at '/competitions/0/name'"),
    (TRAINING_CHART, {"competitions": [{"name": "faces"}]}, "missing property 'gpus'"),
    (TRAINING_CHART, {"competitions": [{"name": "a", "gpus": 1}, {"name": "a", "gpus": 2}]},
     'name "a" is used twice'),
    (TRAINING_CHART, {"competitions": [{"name": "a", "gpus": 1, "datasetVolume": {"size": "lots"}}]},
     "at '/competitions/0/datasetVolume/size'"),
    (TRAINING_CHART, {"kueue": {"enabled": True}},
     "kueue.enabled is true, but this cluster does not serve kueue.x-k8s.io/v1beta1"),
    (TRAINING_CHART, {"podSecurity": {"level": "none"}}, "at '/podSecurity/level'"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_values_are_refused_with_a_message_naming_them(chart, values, message):
    with pytest.raises(HelmFailed) as refused:
        render(ValuesSet("bad", chart, values))
    assert message in str(refused.value)
