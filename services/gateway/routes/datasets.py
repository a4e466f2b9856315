"""Dataset routes: admins register dataset folders; everyone may list the names."""

from __future__ import annotations

import time

from fastapi import APIRouter

from arenahub.gateway.datasets import check_dataset_folder, check_dataset_name
from arenahub.gateway.datasetstore import dataset_summary, load_datasets, save_new_dataset
from arenahub.gateway.deps import AdminDep, GatewayDep, PrincipalDep
from arenahub.gateway.models import Dataset
from arenahub.gateway.schemas import DatasetIn, DatasetListOut, DatasetOut, ErrorOut

router = APIRouter(tags=["datasets"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


@router.post(
    "/datasets",
    status_code=201,
    response_model=DatasetOut,
    responses={400: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def register_dataset(body: DatasetIn, gateway: GatewayDep, admin: AdminDep) -> DatasetOut:
    """Admins: register a folder with train/, test/inputs/ and test/annotations/ under a name."""
    name = check_dataset_name(body.name)
    folder = check_dataset_folder(body.path)
    dataset = Dataset(
        name=name, path=str(folder), description=body.description,
        registered_by=admin.name, registered_at=time.time(),
    )
    saved = await gateway.db.write(save_new_dataset, dataset)
    return DatasetOut.model_validate(dataset_summary(saved))


@router.get("/datasets", response_model=DatasetListOut)
async def list_datasets(gateway: GatewayDep, principal: PrincipalDep) -> DatasetListOut:
    """Registered datasets; folder paths and registrars are shown to admins only."""
    datasets = await gateway.db.read(load_datasets)
    shown = [
        dataset_summary(d) if principal.can_read_all else {"name": d.name, "description": d.description}
        for d in datasets
    ]
    return DatasetListOut.model_validate({"datasets": shown})
