"""The lab's services, in start order. Each module defines one Service subclass."""
from labkit.services.apiservice import ApiService
from labkit.services.k8s import K8sService
from labkit.services.postgres import PostgresService
from labkit.services.redis import RedisService
from labkit.services.saas import SaasService

SERVICE_CLASSES = [PostgresService, RedisService, SaasService, K8sService, ApiService]


def all_services(config):
    return [cls(config) for cls in SERVICE_CLASSES]
