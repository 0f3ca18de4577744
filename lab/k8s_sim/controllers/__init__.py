"""Controllers run in this order on every tick: ReplicaSets after the kubelet (so pod readiness is
fresh), Deployments after ReplicaSets (so status reflects them), then the rest."""


def build_controllers(cluster):
    from k8s_sim.controllers.daemonset import DaemonSetController
    from k8s_sim.controllers.deployment import DeploymentController
    from k8s_sim.controllers.hpa import HPAController
    from k8s_sim.controllers.replicaset import ReplicaSetController
    from k8s_sim.controllers.statefulset import StatefulSetController

    return [ReplicaSetController(cluster), DeploymentController(cluster), StatefulSetController(cluster),
            DaemonSetController(cluster), HPAController(cluster)]
